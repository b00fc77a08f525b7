"""The Kustomer source: Kustomer's REST API v1 (search keyset extraction, messages and notes per conversation,
attachments streamed into the stage, KObjects as custom object records). Registered by ``connector.py``."""
