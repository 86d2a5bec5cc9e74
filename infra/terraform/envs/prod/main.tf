module "footfall" {
  source                      = "../../modules/footfall"
  name                        = "footfall-prod"
  kms_key_arn                 = var.kms_key_arn
  access_log_bucket           = var.access_log_bucket
  wheel_path                  = var.wheel_path
  glue_scripts_dir            = var.glue_scripts_dir
  glue_version                = "5.0"
  worker_type                 = "G.2X"
  number_of_workers           = 4
  athena_bytes_scanned_cutoff = 10737418240
  landing_noncurrent_days     = 365
  tags                        = { environment = "prod" }
}
