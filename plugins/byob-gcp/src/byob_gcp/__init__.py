"""byob-gcp: the Google Cloud Storage provider of byob.

`byob_gcp.plugin` holds the hook implementations; `byob_gcp.signing` the V4 signers
(GOOG4-RSA-SHA256 and GOOG4-HMAC-SHA256); `byob_gcp.testing` starts the local stand-ins
(fake-gcs-server, gcp-storage-emulator) for tests. No Google SDK is imported here.
"""

from __future__ import annotations

__version__ = "0.1.0"
