module "footfall" {
  source                      = "../../modules/footfall"
  name                        = "footfall-dev"
  kms_key_arn                 = var.kms_key_arn
  access_log_bucket           = var.access_log_bucket
  wheel_path                  = var.wheel_path
  glue_scripts_dir            = var.glue_scripts_dir
  glue_version                = "5.0"
  number_of_workers           = 2
  athena_bytes_scanned_cutoff = 1073741824
  landing_noncurrent_days     = 30
  tags                        = { environment = "dev" }
}
