output "artifacts_bucket" {
  description = "Bucket holding the wheel and the Glue scripts."
  value       = module.footfall.artifacts_bucket
}

output "data_bucket" {
  description = "Bucket holding the lake and Athena results."
  value       = module.footfall.data_bucket
}

output "lake" {
  description = "The lake URI for --lake."
  value       = module.footfall.lake
}

output "job_names" {
  description = "The Glue jobs."
  value       = module.footfall.job_names
}

output "database" {
  description = "The Glue Data Catalog database."
  value       = module.footfall.database
}

output "workgroup" {
  description = "The Athena workgroup."
  value       = module.footfall.workgroup
}
