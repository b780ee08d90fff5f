"""Reading (reader.py) and writing (writer.py) .env files with python-dotenv's grammar (interpolation off:
secrets are literal). Import each from its module: a reader never loads the writer."""
