"""byob-minio: S3-compatible stores (MinIO, Ceph RGW, custom endpoints) and CoreWeave.

The plugin entry point is `byob_minio.plugin`; the verbs are byob-aws's S3 machinery
(`byob_aws.s3`, `byob_aws.sigv4`, `byob_aws.documents`) with what these servers do
differently (`byob_minio.provider`, `byob_minio.provision`, `byob_minio.validate`);
`byob_minio.demo.local_s3` runs a local S3 endpoint for the demo.
"""

__version__ = "0.1.0"
