from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from db.enums import InboxStatus
from json import dumps, loads
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('outpost', '0008_conversation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InboundUpdate',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('bot_id', fields.BigIntField()),
                ('update_id', fields.BigIntField()),
                ('sender_id', fields.BigIntField(null=True)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payload', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=InboxStatus.PENDING, description='PENDING: pending\nHANDLED: handled\nSKIPPED: skipped', enum_type=InboxStatus, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('claimed_by', fields.CharField(null=True, max_length=64)),
                ('handled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('error', fields.CharField(null=True, max_length=200)),
            ],
            options={'table': 'inbound_update', 'app': 'outpost', 'unique_together': (('bot_id', 'update_id'),), 'indexes': [Index(fields=['bot_id', 'status', 'sender_id', 'update_id']), Index(fields=['received_at'])], 'pk_attr': 'id', 'table_description': 'One update from Telegram, kept until handled (and for a while after, as a record).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='parse_mode',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='reply_markup',
            field=fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='text',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.DeleteModel(name='ProcessedUpdate'),
    ]
