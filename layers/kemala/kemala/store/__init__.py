"""Data access: the only code that knows DynamoDB item layouts."""
