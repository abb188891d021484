"""The privacy lifecycle beyond ``pseudonym()`` (COMPAT D21): secret rotation maps
(``rotation``), encrypted escrow with ``reveal()`` (``escrow``) and the PII leak gate
(``pii_scan``).  ``lifecycle`` wires them into a run; each module is imported only when its flag
is used, so runs without them pay nothing."""
