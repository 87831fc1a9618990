"""byob-aws: the Amazon S3 provider of byob, and the S3 machinery other S3-family plugins reuse.

The plugin entry point is `byob_aws.plugin`; the reusable parts are `byob_aws.sigv4`
(the pre-signer), `byob_aws.s3` (clients, listing, deletes, multipart), `byob_aws.provision`,
`byob_aws.validate` and `byob_aws.testing` (a moto server for tests).
"""

__version__ = "0.1.0"
