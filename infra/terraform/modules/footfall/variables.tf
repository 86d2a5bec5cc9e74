variable "name" {
  description = "Prefix of every resource name, e.g. footfall-dev."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name: lower-case letters, digits and dashes, 3 to 41 characters, starting with a letter."
  }
}

variable "database" {
  description = "Glue Data Catalog database the tables are registered in."
  type        = string
  default     = "pedestrian_counting_system"
  validation {
    condition     = can(regex("^[a-z_][a-z0-9_]{0,254}$", var.database))
    error_message = "database: lower-case letters, digits and underscores."
  }
}

variable "kms_key_arn" {
  description = "KMS key for the buckets, Glue and Athena; null uses SSE-S3 (AES-256)."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Existing bucket that receives S3 server access logs; null turns access logging off."
  type        = string
  default     = null
}

variable "landing_noncurrent_days" {
  description = "Days after which replaced versions of landing objects expire."
  type        = number
  default     = 90
  validation {
    condition     = var.landing_noncurrent_days >= 1
    error_message = "landing_noncurrent_days must be at least 1."
  }
}

variable "glue_version" {
  description = "AWS Glue version of the jobs: 4.0 (Spark 3.3) or 5.0 (Spark 3.5)."
  type        = string
  default     = "5.0"
  validation {
    condition     = contains(["4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be 4.0 or 5.0."
  }
}

variable "worker_type" {
  description = "Glue worker type of the transform job."
  type        = string
  default     = "G.1X"
  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type must be G.1X, G.2X, G.4X or G.8X."
  }
}

variable "number_of_workers" {
  description = "Glue workers of the transform job (the smallest by default: make bench shows Spark's per-job fixed cost, not data, sets its time at Melbourne's size)."
  type        = number
  default     = 2
  validation {
    condition     = var.number_of_workers >= 2
    error_message = "number_of_workers must be at least 2."
  }
}

variable "schedule" {
  description = "Cron expression (UTC) of the ingest job; the source publishes monthly."
  type        = string
  default     = "cron(0 18 2 * ? *)"
}

variable "athena_bytes_scanned_cutoff" {
  description = "Athena stops a query of this workgroup after scanning this many bytes."
  type        = number
  default     = 10737418240
  validation {
    condition     = var.athena_bytes_scanned_cutoff >= 10485760
    error_message = "athena_bytes_scanned_cutoff must be at least 10 MB (Athena's minimum)."
  }
}

variable "wheel_path" {
  description = "Local path of the footfall wheel built by `make dist`."
  type        = string
}

variable "glue_scripts_dir" {
  description = "Local folder holding footfall_ingest.py and footfall_transform.py, the Glue entry points."
  type        = string
}

variable "portal_url" {
  description = "Base URL of the Opendatasoft portal the ingest job fetches from."
  type        = string
  default     = "https://data.melbourne.vic.gov.au"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
