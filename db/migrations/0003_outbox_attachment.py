from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('outpost', '0002_registration_and_menu')]

    initial = False

    operations = [
        ops.CreateModel(
            name='OutboxAttachment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('file_name', fields.CharField(max_length=200)),
                ('mime_type', fields.CharField(max_length=100)),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'outbox_attachment', 'app': 'outpost', 'pk_attr': 'id', 'table_description': 'A file sent with an outbox message (a monthly sheet), kept with it in the database.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='OutboxMessage',
            name='attachment',
            field=fields.ForeignKeyField('outpost.OutboxAttachment', source_field='attachment_id', null=True, db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.SET_NULL),
        ),
    ]
