variable "region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "ap-southeast-2"
}

variable "kms_key_arn" {
  description = "KMS key for the buckets, Glue and Athena; null uses SSE-S3."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Existing bucket for S3 access logs; null turns access logging off."
  type        = string
  default     = null
}

variable "wheel_path" {
  description = "The wheel built by `make dist`."
  type        = string
  default     = "../../../../dist/footfall-0.1.0-py3-none-any.whl"
}

variable "glue_scripts_dir" {
  description = "The repository's glue/ folder."
  type        = string
  default     = "../../../../glue"
}
