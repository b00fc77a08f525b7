"""The Kayako source: new (cloud) Kayako read through its REST API v1 (session auth, ``include=`` side-loading,
``next_url`` paging), mapped into the canonical model v2. Kayako Classic is detected and refused."""
