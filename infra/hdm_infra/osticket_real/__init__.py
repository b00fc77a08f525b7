"""Recording the real osTicket application: drive its own installer, API, mail parser and staff UI over HTTP and
keep the database it writes (plus the pages it renders) as test fixtures. See :mod:`hdm_infra.osticket_real.record`.
"""
