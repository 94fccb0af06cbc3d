from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Person',
            name='menu_key',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Person',
            name='registration_step',
            field=fields.CharField(null=True, max_length=16),
        ),
    ]
