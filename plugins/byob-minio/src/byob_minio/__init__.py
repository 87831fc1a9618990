"""byob-minio: S3-compatible stores (MinIO, Ceph RGW, custom endpoints) and CoreWeave, and
the documented base of any S3-compatible provider plugin.

The plugin entry point is `byob_minio.plugin`; the verbs are byob-aws's S3 machinery
(`byob_aws.s3`, `byob_aws.sigv4`, `byob_aws.documents`) with what these servers do
differently (`byob_minio.provider`, `byob_minio.provision`, `byob_minio.validate`);
`byob_minio.demo.local_s3` runs a local S3 endpoint for the demo.

For a new S3-compatible provider (R2, B2, Wasabi, ...): `S3CompatibleProvider` with the
switches for what the service lacks, and `S3CompatiblePlugin` as the whole plugin (see
``docs/plugins.md``, "S3-compatible providers"). Importing them imports no cloud SDK.
"""

from byob_minio.base import S3CompatiblePlugin
from byob_minio.provider import S3CompatibleProvider

__version__ = "0.1.0"
__all__ = ["S3CompatiblePlugin", "S3CompatibleProvider", "__version__"]
