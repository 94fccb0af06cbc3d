"""Closed sets of values stored in the database."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Role(StrEnum):
    """What a person may do; a person may hold several roles."""

    STAFF = "staff"
    HEAD = "head"
    SAFETY = "safety"
    HQ = "hq"
    ADMIN = "admin"


class ContactKind(StrEnum):
    """Who a contact is, in the order /contacts lists them."""

    EMBASSY = "embassy"
    CONSULATE = "consulate"
    POLICE = "police"
    AMBULANCE = "ambulance"
    FIRE = "fire"
    HOSPITAL = "hospital"
    INSURER = "insurer"
    HQ_DUTY = "hq_duty"


class CheckInKind(StrEnum):
    """Sign-in at arrival or sign-out at leaving."""

    IN = "in"
    OUT = "out"


class CheckInSource(StrEnum):
    """How the position reached us."""

    CHAT = "chat"
    LIVE = "live"
    MINI_APP = "mini_app"


class RequestStatus(StrEnum):
    """The life of anything a head or HQ approves."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    CANCELLED = "cancelled"


class OutingStatus(StrEnum):
    """The life of an outing, from request to return."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    OUT = "out"
    RETURNED = "returned"
    CANCELLED = "cancelled"


class IncidentKind(StrEnum):
    """What happened, as the regulations list emergencies."""

    SOS = "sos"
    OVERDUE = "overdue"
    SECURITY = "security"
    CRIME = "crime"
    KIDNAPPING = "kidnapping"
    TERROR = "terror"
    UNREST = "unrest"
    DISASTER = "disaster"
    ACCIDENT = "accident"
    HEALTH = "health"
    OTHER = "other"


class IncidentStatus(StrEnum):
    """Where an incident stands."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ESCALATED = "escalated"
    CLOSED = "closed"


class AlertScope(StrEnum):
    """Who a security warning is for."""

    COUNTRY = "country"
    STATION = "station"
    AREA = "area"
    ALL = "all"


class Severity(StrEnum):
    """How grave a warning or incident is."""

    INFO = "info"
    ADVISORY = "advisory"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertReply(StrEnum):
    """What a recipient answers a security warning."""

    SAFE = "safe"
    HELP = "help"
    AWAY = "away"  # not in the area


class ReportStatus(StrEnum):
    """Review state of a plan or report."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    RETURNED = "returned"


class ExpenseStatus(StrEnum):
    """The life of an expense claim."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REFUSED = "refused"
    SETTLED = "settled"


class Lane(IntEnum):
    """Outbox priority lanes; a lower value is always sent first."""

    EMERGENCY = 0
    ESCALATION = 1
    APPROVAL = 2
    BROADCAST = 3
    ROUTINE = 4


class Channel(StrEnum):
    """How a message leaves Outpost."""

    TELEGRAM = "telegram"
    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"


class DeliveryStatus(StrEnum):
    """Where one outbox message stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class DeadlineStatus(StrEnum):
    """Where one deadline stands."""

    PENDING = "pending"
    # Taken by one engine until its lease runs out.
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


class InboxStatus(StrEnum):
    """Where one inbound Telegram update stands."""

    PENDING = "pending"
    HANDLED = "handled"
    # Cannot be parsed, or its handling failed every time: never handled.
    SKIPPED = "skipped"
