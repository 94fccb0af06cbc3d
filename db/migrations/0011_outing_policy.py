from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0010_checkin_correction')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Outing',
            name='dest_lat',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Outing',
            name='dest_lon',
            field=fields.FloatField(null=True),
        ),
        ops.AddField(
            model_name='Outing',
            name='first_approved_by',
            field=fields.ForeignKeyField('outpost.Person', source_field='first_approved_by_id', null=True, db_constraint=True, to_field='id', related_name='outing_first_approvals', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Outing',
            name='is_high_risk',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Station',
            name='outing_policy',
            field=fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
