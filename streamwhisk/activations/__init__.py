"""Every invocation on the record: OpenWhisk's activation records (`record.py`), kept in the
project's SQLite journal (`journal.py`), noted as activations run and stream
(`recorder.py`)."""
