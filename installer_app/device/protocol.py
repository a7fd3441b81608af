"""Numbers of the provisioning serial protocol, version 1 (shared/specs/device-protocol.md)."""

from enum import IntEnum

MAGIC = b"\xa5\x5a"
VERSION = 1
MAX_PAYLOAD = 1024
HEADER_LEN = 7  # magic(2) version(1) type(1) seq(1) length(2)
CRC_LEN = 2
BAUDRATE = 115200

RESPONSE_BIT = 0x80
EVENT_SEQ = 0

# Response deadlines from the spec's "Timing and retries".
RESPONSE_TIMEOUT_S = 0.5
COMMIT_TIMEOUT_S = 1.5
MAX_TRIES = 3
BUSY_RETRY_S = 0.2
REBOOT_BOOTED_WAIT_S = 5.0
REBOOT_HELLO_WAIT_S = 5.0


class Command(IntEnum):
    HELLO = 0x01
    WRITE = 0x02
    VERIFY = 0x03
    COMMIT = 0x04
    SET_WIFI = 0x05
    STATUS = 0x06
    IDENTIFY = 0x07
    REBOOT = 0x08
    FACTORY_RESET = 0x09


class FrameType(IntEnum):
    """Frame types that are not plain requests."""

    EVENT = 0xE0
    ERROR = 0xFF


class Tag(IntEnum):
    PROTO = 0x01
    MODEL_ID = 0x02
    FW_VERSION = 0x03
    HW_ID = 0x04
    STATE = 0x05
    SN = 0x06
    SECRET_NO = 0x07
    NONCE = 0x08
    PROOF = 0x09
    SSID = 0x0A
    PSK = 0x0B
    NET_STATE = 0x0C
    WECOM_STATE = 0x0D
    CORP_NAME = 0x0E
    ERROR_CODE = 0x0F
    MESSAGE = 0x10
    CONFIRM = 0x11
    EVENT_CODE = 0x12


class DeviceState(IntEnum):
    BLANK = 0
    STAGED = 1
    PROVISIONED = 2


class NetState(IntEnum):
    DOWN = 0
    LINK_UP = 1
    ONLINE = 2


class WecomState(IntEnum):
    IDLE = 0
    REGISTERED = 1
    WAITING_BIND = 2
    BOUND = 3


class EventCode(IntEnum):
    NET_CHANGED = 1
    WECOM_CHANGED = 2
    BOOTED = 3


class ErrorCode(IntEnum):
    BAD_FRAME = 0x01
    UNKNOWN_COMMAND = 0x02
    BAD_VALUE = 0x03
    LOCKED = 0x04
    NOT_STAGED = 0x05
    FLASH_FAIL = 0x06
    BUSY = 0x07
