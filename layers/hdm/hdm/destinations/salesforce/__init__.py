"""Salesforce Service Cloud destination: mapping-driven, dependency-ordered, idempotent loads through
simple-salesforce (sObject Collections below the Bulk threshold, Bulk API 2.0 above), with field-level
verification and rollback of what the migration created."""

from hdm.destinations.salesforce.destination import SalesforceDestination
from hdm.destinations.salesforce.errors import DailyLimitExceeded, SalesforceDestinationError, SchemaNotReady
from hdm.destinations.salesforce.options import SalesforceOptions
from hdm.destinations.salesforce.phases import PHASES

__all__ = [
    "DailyLimitExceeded", "PHASES", "SalesforceDestination", "SalesforceDestinationError", "SalesforceOptions",
    "SchemaNotReady",
]
