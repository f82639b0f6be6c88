"""The embedded local stack: template.yaml on moto, with the real handlers driven in-process.

`kemala local up` (kemala_cli.local_cmd) builds a `LocalStack` (stack.py) from the SAM template translated by
aws-sam-translator (template.py), creates its resources in moto (resources.py), and drives the functions
(functions.py) from HTTP (http_api.py), SQS (sqs_driver.py) and schedules (schedules.py). See
docs/local-stack.md.
"""
