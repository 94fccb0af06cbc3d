from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0005_invariants')]

    initial = False

    operations = [
        ops.AddField(
            model_name='OutboxMessage',
            name='edit_of_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='fallback_of_id',
            field=fields.BigIntField(null=True),
        ),
    ]
