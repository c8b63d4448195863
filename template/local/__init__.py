"""Local stack for `make dev`, `make admin STAGE=local` and the tests: no AWS account, no Docker."""
