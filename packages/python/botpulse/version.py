SDK_NAME = "botpulse.python"
SDK_VERSION = "0.1.0"
