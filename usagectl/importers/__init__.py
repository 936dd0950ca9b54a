"""One module per source format: file -> canonical records. No database code here."""
