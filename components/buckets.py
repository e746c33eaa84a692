"""What every bucket of the stack has: bucket-owner-enforced ownership (no ACLs), all four public
access blocks, and SSE-S3 by default. The agent's code bucket and the hosted page's bucket use it."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

# The longest `bucket_prefix` S3 takes: a bucket name is at most 63 characters (Amazon S3 User Guide,
# "General purpose bucket naming rules") and the AWS provider appends a 26-character unique suffix to
# the prefix (pulumi_aws s3.Bucket, bucket_prefix: "less than or equal to 37 characters in length").
BUCKET_PREFIX_MAX_LENGTH = 37


def private_bucket_controls(
    parent: pulumi.Resource, prefix: str, bucket: aws.s3.Bucket
) -> tuple[aws.s3.BucketPublicAccessBlock, aws.s3.BucketServerSideEncryptionConfiguration]:
    """Registers `<prefix>-ownership`, `<prefix>-public-access-block` and `<prefix>-encryption`.

    Returns the public access block (a bucket policy must wait for it: S3 rejects a policy while the
    block is being applied) and the encryption (objects written before it would be stored unencrypted).
    SSE-S3 rather than SSE-KMS: CloudFront's origin access control reads SSE-KMS objects only with a
    key policy granting it, and the agent runtime's role would need the key too.
    """
    child = pulumi.ResourceOptions(parent=parent)
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-encryption",
        bucket=bucket.id,
        rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                sse_algorithm="AES256",
            ),
        )],
        opts=child,
    )
    return public_access_block, encryption
