from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from db.enums import DeadlineStatus
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('outpost', '0006_outbox_edit_fallback')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Deadline',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=32)),
                ('key', fields.CharField(max_length=128)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=DeadlineStatus.PENDING, description='PENDING: pending\nCLAIMED: claimed\nDONE: done\nCANCELLED: cancelled\nFAILED: failed', enum_type=DeadlineStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('done_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'deadline', 'app': 'outpost', 'unique_together': (('kind', 'key'),), 'indexes': [Index(fields=['status', 'due_at']), Index(fields=['status', 'lease_until'])], 'pk_attr': 'id', 'table_description': "One due moment of one thing (a station's next event, the monthly sheet)."},
            bases=['Model'],
        ),
    ]
