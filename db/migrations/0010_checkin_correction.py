from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0009_inbox')]

    initial = False

    operations = [
        ops.AddField(
            model_name='CheckIn',
            name='correction_of',
            field=fields.OneToOneField('outpost.CheckIn', source_field='correction_of_id', null=True, db_constraint=True, to_field='id', related_name='correction', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Station',
            name='checkin_correction_min',
            field=fields.IntField(default=30),
        ),
    ]
