"""The operator console: bilingual server-rendered pages for duty officers, analysts and approvers."""
