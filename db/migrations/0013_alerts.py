from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from db.enums import AlertReply, Severity
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields



class DescribeField(ops.AlterField):
    """A change of the field's description only (a new enum member): no schema change.

    SQLite alters a field by rebuilding the table, which would drop the incident table's
    one-open-SOS unique constraint (0005); the database has nothing to change here.
    """

    async def database_forward(self, *args: object, **kwargs: object) -> None:
        return None

    async def database_backward(self, *args: object, **kwargs: object) -> None:
        return None


class Migration(migrations.Migration):
    dependencies = [('outpost', '0012_incident_nature')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AlertAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('delivery', fields.ForeignKeyField('outpost.AlertDelivery', source_field='delivery_id', db_constraint=True, to_field='id', related_name='answers', on_delete=OnDelete.CASCADE)),
                ('answer', fields.CharEnumField(description='SAFE: safe\nHELP: help\nAWAY: away', enum_type=AlertReply, max_length=8)),
                ('answered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'alert_answer', 'app': 'outpost', 'pk_attr': 'id', 'table_description': 'One press of an answer button: the history kept when a recipient changes their answer.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Alert',
            name='scope_value',
            field=fields.CharField(null=True, max_length=200),
        ),
        DescribeField(
            model_name='Alert',
            name='severity',
            field=fields.CharEnumField(default=Severity.WARNING, description='INFO: info\nADVISORY: advisory\nWARNING: warning\nCRITICAL: critical', enum_type=Severity, max_length=16),
        ),
        ops.AddField(
            model_name='Alert',
            name='heads_after_min',
            field=fields.IntField(default=60),
        ),
        ops.AddField(
            model_name='Alert',
            name='recipient_count',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Alert',
            name='remind_after_min',
            field=fields.IntField(default=30),
        ),
        ops.AddField(
            model_name='Alert',
            name='status_message_id',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Alert',
            name='texts',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
        ops.AddField(
            model_name='AlertDelivery',
            name='answer',
            field=fields.CharEnumField(null=True, description='SAFE: safe\nHELP: help\nAWAY: away', enum_type=AlertReply, max_length=8),
        ),
        ops.AddField(
            model_name='AlertDelivery',
            name='failed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        DescribeField(
            model_name='Incident',
            name='severity',
            field=fields.CharEnumField(default=Severity.CRITICAL, description='INFO: info\nADVISORY: advisory\nWARNING: warning\nCRITICAL: critical', enum_type=Severity, max_length=16),
        ),
    ]
