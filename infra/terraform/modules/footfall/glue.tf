# The catalog database and the two jobs: ingest (portal -> landing), then transform (answers + catalog).

resource "aws_glue_catalog_database" "this" {
  name        = var.database
  description = "footfall: City of Melbourne pedestrian counts (${var.name})"
  tags        = local.tags
}

resource "aws_glue_security_configuration" "this" {
  name = "${var.name}-security"
  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = var.kms_key_arn == null ? "DISABLED" : "SSE-KMS"
      kms_key_arn                = var.kms_key_arn
    }
    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = var.kms_key_arn == null ? "DISABLED" : "CSE-KMS"
      kms_key_arn                   = var.kms_key_arn
    }
    s3_encryption {
      s3_encryption_mode = var.kms_key_arn == null ? "SSE-S3" : "SSE-KMS"
      kms_key_arn        = var.kms_key_arn
    }
  }
  #checkov:skip=CKV_AWS_99:CloudWatch and bookmark encryption need a KMS key; they turn on with kms_key_arn
}

locals {
  job_arguments = {
    "--lake"                             = local.lake
    "--database"                         = var.database
    "--pipeline"                         = "melbourne"
    "--portal"                           = var.portal_url
    "--additional-python-modules"        = "s3://${local.buckets.artifacts}/${local.wheel_key}"
    "--enable-continuous-cloudwatch-log" = "true"
    "--job-bookmark-option"              = "job-bookmark-disable"
    "--TempDir"                          = "s3://${local.buckets.data}/_glue-temp/"
  }
  jobs = {
    ingest    = { script = "footfall_ingest.py", workers = 2, worker_type = "G.1X", timeout = 120 }
    transform = { script = "footfall_transform.py", workers = var.number_of_workers, worker_type = var.worker_type, timeout = 240 }
  }
}

resource "aws_glue_job" "this" {
  for_each               = local.jobs
  name                   = "${var.name}-${each.key}"
  role_arn               = aws_iam_role.jobs.arn
  glue_version           = var.glue_version
  worker_type            = each.value.worker_type
  number_of_workers      = each.value.workers
  timeout                = each.value.timeout
  max_retries            = 1
  security_configuration = aws_glue_security_configuration.this.name
  default_arguments      = local.job_arguments
  tags                   = local.tags

  command {
    name            = "glueetl"
    python_version  = "3"
    script_location = "s3://${aws_s3_object.glue_script[each.value.script].bucket}/${aws_s3_object.glue_script[each.value.script].key}"
  }

  execution_property {
    max_concurrent_runs = 1
  }
}

resource "aws_glue_trigger" "schedule" {
  name     = "${var.name}-monthly-ingest"
  type     = "SCHEDULED"
  schedule = var.schedule
  tags     = local.tags
  actions {
    job_name = aws_glue_job.this["ingest"].name
  }
}

resource "aws_glue_trigger" "after_ingest" {
  name = "${var.name}-transform-after-ingest"
  type = "CONDITIONAL"
  tags = local.tags
  actions {
    job_name = aws_glue_job.this["transform"].name
  }
  predicate {
    conditions {
      job_name = aws_glue_job.this["ingest"].name
      state    = "SUCCEEDED"
    }
  }
}
