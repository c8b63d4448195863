terraform {
  # 1.10: S3-native state locking (use_lockfile), no DynamoDB lock table.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # Partial configuration: each stage's bucket and key are in backends/<stage>.s3.tfbackend
  # (terraform init -reconfigure -backend-config=backends/<stage>.s3.tfbackend).
  backend "s3" {}
}
