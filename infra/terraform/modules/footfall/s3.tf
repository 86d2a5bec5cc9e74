# Two buckets: artifacts (the wheel, the Glue scripts) and data (the lake's zones as prefixes, and Athena
# results). Both versioned, encrypted, private, TLS only.

resource "aws_s3_bucket" "this" {
  for_each = local.buckets
  bucket   = each.value
  tags     = merge(local.tags, { purpose = each.key })
  #checkov:skip=CKV_AWS_144:the lake is rebuilt from the public portal; cross-region replication is not worth its cost
  #checkov:skip=CKV2_AWS_62:nothing consumes bucket events; jobs run on a schedule
  #checkov:skip=CKV_AWS_145:SSE-S3 is the default on purpose; set kms_key_arn for SSE-KMS
  #checkov:skip=CKV_AWS_18:access logging is optional (access_log_bucket), not every account has a log bucket
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each                = local.buckets
  bucket                  = aws_s3_bucket.this[each.key].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.this[each.key].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = local.sse_algorithm
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets
  bucket   = aws_s3_bucket.this[each.key].id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-replaced-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.landing_noncurrent_days
    }
  }

  rule {
    id     = "expire-athena-results"
    status = each.key == "data" ? "Enabled" : "Disabled"
    filter {
      prefix = "athena-results/"
    }
    expiration {
      days = 30
    }
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each      = var.access_log_bucket == null ? {} : local.buckets
  bucket        = aws_s3_bucket.this[each.key].id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${each.value}/"
}

data "aws_iam_policy_document" "tls_only" {
  for_each = local.buckets
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[each.key].arn,
      "${aws_s3_bucket.this[each.key].arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each   = local.buckets
  bucket     = aws_s3_bucket.this[each.key].id
  policy     = data.aws_iam_policy_document.tls_only[each.key].json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_object" "wheel" {
  bucket = aws_s3_bucket.this["artifacts"].id
  key    = local.wheel_key
  source = var.wheel_path
  etag   = filemd5(var.wheel_path)
  tags   = local.tags
}

resource "aws_s3_object" "glue_script" {
  for_each = toset(["footfall_ingest.py", "footfall_transform.py"])
  bucket   = aws_s3_bucket.this["artifacts"].id
  key      = "glue/${each.value}"
  source   = "${var.glue_scripts_dir}/${each.value}"
  etag     = filemd5("${var.glue_scripts_dir}/${each.value}")
  tags     = local.tags
}
