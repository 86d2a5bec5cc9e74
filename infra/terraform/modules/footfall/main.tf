data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  region    = data.aws_region.current.name
  partition = data.aws_partition.current.partition
  tags      = merge({ project = "footfall", stack = var.name }, var.tags)
  buckets = {
    artifacts = "${var.name}-artifacts-${local.account}"
    data      = "${var.name}-data-${local.account}"
  }
  sse_algorithm = var.kms_key_arn == null ? "AES256" : "aws:kms"
  wheel_key     = "dist/${basename(var.wheel_path)}"
  lake          = "s3://${local.buckets.data}/"
}
