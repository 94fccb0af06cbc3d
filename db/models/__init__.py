"""All Outpost tables, one module per part of the domain."""

from db.models.alerts import Alert, AlertAnswer, AlertDelivery, SecurityReport
from db.models.attendance import CheckIn, DutyRoster, LeaveRequest
from db.models.audit import AuditLog
from db.models.conversations import Conversation
from db.models.deadlines import Deadline
from db.models.delivery import DeliveryAttempt, OutboxAttachment, OutboxMessage
from db.models.inbox import InboundUpdate
from db.models.incidents import Incident, IncidentEvent
from db.models.money import Budget, ExchangeRate, Expense, ExpensePhoto
from db.models.outings import Outing
from db.models.people import Contact, Holiday, Invite, Person, PersonRole, Station
from db.models.reports import DailyReport, WeeklyPlan

__all__ = [
    "Alert",
    "AlertAnswer",
    "AlertDelivery",
    "AuditLog",
    "Budget",
    "CheckIn",
    "Contact",
    "Conversation",
    "DailyReport",
    "Deadline",
    "DeliveryAttempt",
    "DutyRoster",
    "ExchangeRate",
    "Expense",
    "ExpensePhoto",
    "Holiday",
    "InboundUpdate",
    "Incident",
    "IncidentEvent",
    "Invite",
    "LeaveRequest",
    "OutboxAttachment",
    "OutboxMessage",
    "Outing",
    "Person",
    "PersonRole",
    "SecurityReport",
    "Station",
    "WeeklyPlan",
]
