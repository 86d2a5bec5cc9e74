output "artifacts_bucket" {
  description = "Bucket holding the wheel and the Glue scripts."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "data_bucket" {
  description = "Bucket holding the lake (landing/, transformed/, curated/) and Athena results."
  value       = aws_s3_bucket.this["data"].id
}

output "lake" {
  description = "The lake URI to give footfall as --lake."
  value       = local.lake
}

output "job_names" {
  description = "The Glue jobs: ingest, then transform."
  value       = { for key, job in aws_glue_job.this : key => job.name }
}

output "database" {
  description = "The Glue Data Catalog database."
  value       = aws_glue_catalog_database.this.name
}

output "workgroup" {
  description = "The Athena workgroup to query with."
  value       = aws_athena_workgroup.this.name
}
