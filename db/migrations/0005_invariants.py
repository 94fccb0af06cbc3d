from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

# Existing rows get their markers before the unique constraints arrive: the earliest sign-in of
# each person and day, and each person's latest open outing and latest open SOS.
MARK_FIRST_CHECKINS = (
    "UPDATE checkin SET first_of_day = TRUE WHERE kind = 'in' AND id = ("
    "SELECT other.id FROM checkin AS other WHERE other.person_id = checkin.person_id "
    "AND other.local_date = checkin.local_date AND other.kind = 'in' "
    "ORDER BY other.at, other.id LIMIT 1)"
)
MARK_OPEN_OUTINGS = (
    "UPDATE outing SET open_marker = TRUE WHERE id = ("
    "SELECT MAX(other.id) FROM outing AS other WHERE other.person_id = outing.person_id "
    "AND other.status IN ('pending', 'approved', 'out'))"
)
MARK_OPEN_SOS = (
    "UPDATE incident SET open_sos_marker = TRUE WHERE id = ("
    "SELECT MAX(other.id) FROM incident AS other "
    "WHERE other.reported_by_id = incident.reported_by_id "
    "AND other.kind = 'sos' AND other.status <> 'closed')"
)


class Migration(migrations.Migration):
    dependencies = [('outpost', '0004_live_track')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CheckIn',
            name='first_of_day',
            field=fields.BooleanField(null=True),
        ),
        ops.RunSQL(MARK_FIRST_CHECKINS, reverse_sql=''),
        ops.AddConstraint(
            model_name='CheckIn',
            constraint=UniqueConstraint(fields=('person', 'local_date', 'first_of_day'), name=None),
        ),
        ops.AddField(
            model_name='Incident',
            name='open_sos_marker',
            field=fields.BooleanField(null=True),
        ),
        ops.RunSQL(MARK_OPEN_SOS, reverse_sql=''),
        ops.AddConstraint(
            model_name='Incident',
            constraint=UniqueConstraint(fields=('reported_by', 'open_sos_marker'), name=None),
        ),
        ops.AddField(
            model_name='Outing',
            name='open_marker',
            field=fields.BooleanField(null=True),
        ),
        ops.RunSQL(MARK_OPEN_OUTINGS, reverse_sql=''),
        ops.AddConstraint(
            model_name='Outing',
            constraint=UniqueConstraint(fields=('person', 'open_marker'), name=None),
        ),
    ]
