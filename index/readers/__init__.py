"""One module per input format, each turning a file's decoded text into documents.

``text`` (.txt, .md), ``squad`` (SQuAD-style JSON, also the evaluation and training sets' parser);
``encoding`` decodes bytes for all of them. ``index.ingest`` picks the reader by file suffix.
New formats (PDF, Office, HTML, OCR) come here.
"""
