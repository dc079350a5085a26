#!/usr/bin/python3
"""Virtual Chinese social security card (社会保障卡) for vsmartcard's vpcd.

Built on vicc's Python API (virtualsmartcard.VirtualSmartcard.Iso7816OS,
SmartcardFilesystem.MF/DF/RecordStructureEF/Record, SmartcardSAM.SAM) with a
custom OS subclass for SELECT (FCI), READ RECORD, VERIFY (63Cx / 6983 / 9000)
and optional PIN protection of the holder EF.  The vpcd socket loop is
re-implemented (~60 lines) so the card can be "pulled" and "re-inserted" with
SIGUSR1 without killing the process, reconnects if pcscd restarts, and does
not suffer the ~40 ms/APDU Nagle/delayed-ACK stall (TCP_QUICKACK).

File layout (as real-world SSC reader code addresses it):
  MF 3F00
   └ DF DDF1 "SSSE", AID 7378312E73682EC9E7BBE1B1A3D5CF ("sx1.sh.社会保障" GBK)
       ├ EF05 (SFI 5) card identification data: linear variable SIMPLE-TLV
       │              record EF, record n = TLV with tag n
       └ EF06 (SFI 6) card holder basic data: same structure, records 1..6
                      = tags 08..0D  (optionally PIN protected)

Records (tag, length, coding) - sizes match what deployed reader code sends
as Le (e.g. 00B2010414 = SSN record, 00B2020420 = name record):
  EF05: 01 card identification code   16 b  (region BCD + RID D156000005 ..)
        02 card type                   1 an
        03 spec version                4 an ("3.00")
        04 initialising org code      12 b
        05 issue date                  4 cn (BCD YYYYMMDD)
        06 expiry date                 4 cn (BCD YYYYMMDD)
        07 card number                 9 an
  EF06: 08 social security number     18 an (citizen ID number)
        09 name                       30 an (GBK, 0x00-padded)
        0A sex                         1 an ("1" male, "2" female)
        0B ethnic group (民族)          1 cn (BCD, GB 3304 code, 01 = Han)
        0C birthplace                  3 cn (BCD region code)
        0D birth date                  4 cn (BCD YYYYMMDD)

APDUs understood (CLA 00):
  00 A4 04 00 Lc AID [Le]   SELECT by DF name -> FCI 6F(84 AID) 9000
  00 A4 00|02 00|0C 02 FID  SELECT EF (EF05/EF06) in current DF
  00 B2 P1 P2 Le            READ RECORD; P2 = SFI<<3 | mode, SFI 0 = current EF
                            mode 4: P1 = record number (00B2010400, 00B207 2C 0B)
                            mode 0/1/2/3: P1 = record identifier (= tag),
                            first/last/next/previous occurrence (00B2080014)
                            Le 00 -> whole record; Le != record length -> 6Cxx
  00 B0 ..                  READ BINARY on these record EFs -> 6981 (like ISO)
  00 20 00 00 Lc PIN        VERIFY (PIN BCD-packed: 123456 -> 12 34 56):
                            9000 ok / 63Cx wrong, x tries left / 6983 blocked;
                            Lc absent -> 9000 if verified, else 63Cx
  00 84 00 00 08            GET CHALLENGE (stock SAM)
  00 C0 00 00 Le            GET RESPONSE (with --t0: case-4 commands such as
                            SELECT with Le answer 61xx, like T=0 cards)

Fault options (cardledger copy; used by hwbridge's tests):
  --no-ssse         a different card: DDF1 carries another AID, so SELECT of
                    the SSSE AID answers 6A82 (a bank card at the counter)
  --remove-after N  answer N command APDUs, then pull the card out when the
                    next one arrives (card removed mid-transaction); SIGUSR1
                    puts it back
  --empty-ins XX    on an APDU with INS XX (hex) drop the link without an
                    answer and reconnect at once, as a crashing card/driver
                    does: vpcd then hands pcscd a response of zero bytes,
                    which SCardTransmit reports as success
"""
import argparse
import logging
import os
import signal
import socket
import struct
import sys
import time

# --- Debian bookworm packaging workarounds --------------------------------
# python3-virtualsmartcard 3.3+dfsg-2 installs into a path that is not on
# sys.path, and needs the 'Crypto' (PyCrypto/pycryptodome) namespace while
# Debian's python3-pycryptodome only ships 'Cryptodome'.
for p in ("/usr/lib/python3/site-packages/virtualsmartcard",):
    if os.path.isdir(p) and p not in sys.path:
        sys.path.insert(0, p)
try:
    import Crypto  # noqa: F401
except ImportError:
    import Cryptodome
    sys.modules["Crypto"] = Cryptodome
    for sub in ("Cipher", "Hash", "Util", "PublicKey", "Random"):
        try:
            sys.modules["Crypto." + sub] = __import__("Cryptodome." + sub,
                                                      fromlist=["x"])
        except ImportError:
            pass

from virtualsmartcard.VirtualSmartcard import Iso7816OS  # noqa: E402
from virtualsmartcard.SmartcardFilesystem import (  # noqa: E402
    MF, DF, RecordStructureEF, Record)
from virtualsmartcard.ConstantDefinitions import FDB  # noqa: E402
from virtualsmartcard.SmartcardSAM import SAM  # noqa: E402
from virtualsmartcard.SWutils import SwError, SW, SW_MESSAGES  # noqa: E402
from virtualsmartcard.utils import C_APDU  # noqa: E402

# SwError() looks its message up in SW_MESSAGES and raises KeyError for
# codes it does not know (e.g. 63C2, 6C12), so register the ones we use.
for _x in range(16):
    SW_MESSAGES.setdefault(0x63C0 | _x, "Verification failed, %d tries left" % _x)
for _x in range(256):
    SW_MESSAGES.setdefault(0x6C00 | _x, "Wrong Le, %d bytes available" % _x)
SW_MESSAGES.setdefault(0x6981, "Command incompatible with file structure")
SW_MESSAGES.setdefault(0x6982, "Security status not satisfied")
SW_MESSAGES.setdefault(0x6983, "Authentication method blocked")
SW_MESSAGES.setdefault(0x6A83, "Record not found")
SW_MESSAGES.setdefault(0x6A86, "Incorrect P1/P2")

AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
assert AID == "sx1.sh.社会保障".encode("gbk")
# --no-ssse: a PBOC debit application instead of the social-security one
OTHER_AID = bytes.fromhex("A000000333010101")


def tlv(tag, value):
    if isinstance(value, str):
        value = value.encode("ascii")
    assert len(value) < 128
    return bytes([tag, len(value)]) + value


def bcd(digits, nbytes):
    assert len(digits) == 2 * nbytes and digits.isdigit(), digits
    return bytes.fromhex(digits)


def card_records(a):
    """Return ([EF05 records], [EF06 records]) as TLV byte strings."""
    ident = (bcd(a.region, 3) + bytes.fromhex("D156000005") +
             bytes.fromhex(a.card_serial) + b"\xff" * 4)          # 16 bytes
    assert len(ident) == 16
    ef05 = [
        tlv(0x01, ident),                              # card identification code
        tlv(0x02, a.card_type),                        # card type
        tlv(0x03, a.spec_version),                     # spec version
        tlv(0x04, bytes.fromhex(a.init_org)),          # initialising org (12 b)
        tlv(0x05, bcd(a.issue_date, 4)),               # issue date
        tlv(0x06, bcd(a.expiry_date, 4)),              # expiry date
        tlv(0x07, a.card_number),                      # card number (9 an)
    ]
    name = a.name.encode("gbk")
    assert len(name) <= 30
    ef06 = [
        tlv(0x08, a.ssn),                              # social security number
        tlv(0x09, name.ljust(30, b"\x00")),            # name, GBK, 30 bytes
        tlv(0x0A, a.sex),                              # sex
        tlv(0x0B, bcd(a.ethnic, 1)),                   # ethnic group
        tlv(0x0C, bcd(a.birthplace, 3)),               # birthplace
        tlv(0x0D, bcd(a.birth, 4)),                    # birth date
    ]
    return ef05, ef06


def record_ef(parent, fid, sfi, tlvs):
    recs = [Record(identifier=t[0], data=t) for t in tlvs]
    return RecordStructureEF(parent=parent, fid=fid, shortfid=sfi,
                             filedescriptor=FDB["EFSTRUCTURE_LINEAR_VARIABLESIMPLETLV"],
                             maxrecordsize=0xFF, records=recs)


class SSCardOS(Iso7816OS):
    """Iso7816OS with SSC-style SELECT, READ RECORD and VERIFY."""

    def __init__(self, ef05, ef06, pin, max_tries=3, protect_holder=False,
                 atr=None, t0=False, aid=AID, empty_ins=None):
        mf = MF()
        ddf1 = DF(parent=mf, fid=0xDDF1, dfname=aid)
        mf.append(ddf1)
        self.ef05 = record_ef(ddf1, 0xEF05, 5, ef05)
        self.ef06 = record_ef(ddf1, 0xEF06, 6, ef06)
        ddf1.append(self.ef05)
        ddf1.append(self.ef06)
        sam = SAM(pin, b"0000000000", mf)
        Iso7816OS.__init__(self, mf, sam)
        self.t0 = t0              # emulate T=0 case-4 behaviour (61xx)
        self.empty_ins = empty_ins  # INS answered with b"" (crashed card)
        self.pending = b""        # data waiting for GET RESPONSE
        if atr:
            self.atr = atr
        elif t0:                  # T=0 only: TB1=00 TC1=00, 8 historical bytes
            self.atr = bytes.fromhex("3B6800000073C84013009000")
        self.pin = pin
        self.max_tries = max_tries
        self.tries_left = max_tries          # "non-volatile": survives resets
        self.verified = False                # volatile security status
        self.protected = {self.ef06} if protect_holder else set()
        self.le = None
        self.ins2handler.update({
            0xa4: self.select_file,
            0x20: self.verify,
            0xb0: self.read_binary,
            0xb2: self.read_record,
        })
        # read-only card: drop the stock write/create/delete/change handlers
        for ins in (0x0c, 0x0e, 0x0f, 0x24, 0xd0, 0xd1, 0xd2, 0xd6, 0xd7,
                    0xdc, 0xdd, 0xe0, 0xe2, 0xe4):
            self.ins2handler.pop(ins, None)

    # --- power / reset clears the volatile security status ----------------
    def powerUp(self):
        Iso7816OS.powerUp(self)
        self.verified = False

    def reset(self):
        Iso7816OS.reset(self)
        self.verified = False

    def execute(self, msg):
        try:
            c = C_APDU(msg)
            # None = no Le field (case 1/3); 256 = Le 00 (short)
            self.le = c.effective_Le if hasattr(c, "_Le") else None
        except Exception:
            c, self.le = None, None
        if c is not None and c.ins == self.empty_ins:
            raise CrashError()
        if self.t0 and c is not None and c.ins == 0xC0 and self.pending:
            return self.get_response_t0(c)
        self.pending = b""
        try:
            rapdu = Iso7816OS.execute(self, msg)
        except Exception:  # never let a library bug kill the card
            logging.exception("internal error on APDU %s", msg.hex())
            return b"\x6f\x00"
        if (self.t0 and c is not None and len(c.data) > 0 and
                self.le is not None and len(rapdu) > 2 and rapdu[-2:] == b"\x90\x00"):
            # T=0 cannot carry Le in a case-4 command: answer 61xx and keep
            # the data for GET RESPONSE, like a real T=0 COS.
            self.pending = rapdu[:-2]
            return bytes([0x61, len(self.pending) & 0xFF])
        return rapdu

    def get_response_t0(self, c):
        le = self.le or 256                  # Le absent or 00 -> up to 256
        out, self.pending = self.pending[:le], self.pending[le:]
        if self.pending:
            return out + bytes([0x61, len(self.pending) & 0xFF])
        return out + b"\x90\x00"

    def formatResult(self, seekable, le, data, sw, sm):
        # Le=00 means "all you have": answer 9000, not ISO's 6282.  A read
        # without Le (case 1, e.g. 00B2012C) is treated like Le=00, as a T=0
        # card would see P3=00 (the stock code crashes on it).
        if seekable and (le is None or (le >= 256 and len(data) < le)):
            le = len(data)
        return Iso7816OS.formatResult(self, seekable, le, data, sw, sm)

    # --- handlers -----------------------------------------------------------
    def verify(self, p1, p2, data):
        if p1 != 0x00 or p2 not in (0x00, 0x80, 0x81):
            raise SwError(SW["ERR_INCORRECTP1P2"])
        data = bytes(data) if data else b""
        if self.tries_left == 0:
            raise SwError(0x6983)
        if not data:  # status query
            if self.verified:
                return SW["NORMAL"], b""
            raise SwError(0x63C0 | self.tries_left)
        if data == self.pin:
            self.tries_left = self.max_tries
            self.verified = True
            return SW["NORMAL"], b""
        self.verified = False
        self.tries_left -= 1
        if self.tries_left == 0:
            logging.warning("PIN blocked")
        raise SwError(0x63C0 | self.tries_left)

    def select_file(self, p1, p2, data):
        # The stock MF.selectFile crashes building the FCI under Python 3
        # (bertlv_pack gets ints), so build a minimal FCI ourselves.
        f = self.mf._selectFile(p1, p2, bytes(data))
        self.mf.current = f
        if isinstance(f, RecordStructureEF):
            f.resetRecordPointer()
        if p2 & 0x0C == 0x0C:
            return SW["NORMAL"], b""
        if getattr(f, "dfname", None):
            inner = bytes([0x84, len(f.dfname)]) + f.dfname
        else:
            inner = bytes([0x83, 2, f.fid >> 8, f.fid & 0xFF])
        return SW["NORMAL"], bytes([0x6F, len(inner)]) + inner

    def _check(self, ef):
        if ef in self.protected and not self.verified:
            raise SwError(0x6982)  # security status not satisfied

    def _ef_from_p2(self, p2):
        sfi = p2 >> 3
        if sfi == 0x1F:
            raise SwError(0x6A86)
        if sfi:
            ef = self.mf.currentDF().select("shortfid", sfi)  # 6A82 if absent
            if ef is not self.mf.current:
                self.mf.current = ef
                if isinstance(ef, RecordStructureEF):
                    ef.resetRecordPointer()
            return ef
        ef = self.mf.currentEF()
        if ef is None:
            raise SwError(SW["ERR_NOCURRENTEF"])
        return ef

    def read_binary(self, p1, p2, data):
        if p1 & 0x80:
            ef = self.mf.currentDF().select("shortfid", p1 & 0x1F)
            self.mf.current = ef
        else:
            ef = self.mf.currentEF()
            if ef is None:
                raise SwError(SW["ERR_NOCURRENTEF"])
        if not hasattr(ef, "readbinary") or isinstance(ef, RecordStructureEF):
            raise SwError(0x6981)  # command incompatible with file structure
        self._check(ef)
        off = ((p1 & 0x7F) << 8 | p2) if not p1 & 0x80 else p2
        return SW["NORMAL"], ef.readbinary(off)

    def read_record(self, p1, p2, data):
        if p1 == 0xFF:
            raise SwError(0x6A86)
        ef = self._ef_from_p2(p2)
        if not isinstance(ef, RecordStructureEF):
            raise SwError(0x6981)
        self._check(ef)
        recs, mode, ptr = ef.records, p2 & 0x07, ef.recordpointer
        idx = None
        if mode == 0x04:                       # by record number
            idx = (p1 - 1) if p1 else ptr
            if idx is None or idx < 0 or idx >= len(recs):
                raise SwError(0x6A83)
        elif mode <= 0x03:                     # by record identifier (tag)
            order = {0: range(len(recs)),                       # first
                     1: range(len(recs) - 1, -1, -1),           # last
                     2: range(ptr + 1, len(recs)),              # next
                     3: range(ptr - 1, -1, -1)}[mode]           # previous
            if mode in (2, 3) and ptr < 0:
                order = range(len(recs)) if mode == 2 else range(len(recs) - 1, -1, -1)
            for i in order:
                if p1 == 0 or recs[i].identifier == p1:
                    idx = i
                    break
            if idx is None:
                raise SwError(0x6A83)
        else:                                  # 5/6: several records: unsupported
            raise SwError(0x6A86)
        ef.recordpointer = idx
        rec = recs[idx].data
        if self.le is not None and self.le < 256 and self.le != len(rec):
            raise SwError(0x6C00 | len(rec))   # wrong Le: SW2 = record length
        return SW["NORMAL"], rec


class CrashError(Exception):
    """The card 'crashes' on this APDU: drop the link, stay inserted."""


# --- vpcd protocol ----------------------------------------------------------
# 2-byte big-endian length + payload; a 1-byte payload is a control message.
VPCD_CTRL_OFF, VPCD_CTRL_ON, VPCD_CTRL_RESET, VPCD_CTRL_ATR = 0, 1, 2, 4

QUICKACK = (getattr(socket, "TCP_QUICKACK", 0)
            if not os.environ.get("SSCARD_NO_QUICKACK") else 0)


class Link:
    def __init__(self, os_, host, port, remove_after=None):
        self.os, self.host, self.port = os_, host, port
        self.remove_after = remove_after  # APDUs answered before auto-pull
        self.answered = 0
        self.inserted = True
        self.sock = None
        self.stop = False

    def toggle(self, *_):
        """SIGUSR1: pull the card out of / push it back into the reader."""
        self.inserted = not self.inserted
        logging.warning("card %s", "inserted" if self.inserted else "removed")
        if not self.inserted and self.sock:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            try:
                chunk = self.sock.recv(n - len(buf))
                if QUICKACK:
                    # vpcd writes length and APDU in two send()s without
                    # TCP_NODELAY; with delayed ACKs here every APDU costs
                    # ~40 ms (Nagle vs delayed ACK).  Re-arm QUICKACK.
                    self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            except InterruptedError:
                continue
            if not chunk:
                raise ConnectionError("vpcd closed")
            buf += chunk
        return buf

    def serve(self):
        while not self.stop:
            if not self.inserted:
                time.sleep(0.05)
                continue
            try:
                self.sock = socket.create_connection((self.host, self.port))
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if QUICKACK:
                    self.sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
            except OSError as e:
                logging.info("vpcd %s:%d not reachable (%s), retrying",
                             self.host, self.port, e)
                time.sleep(0.1)
                continue
            logging.warning("connected to vpcd %s:%d", self.host, self.port)
            crashed = False
            try:
                while True:
                    (size,) = struct.unpack("!H", self._recv_exact(2))
                    msg = self._recv_exact(size) if size else b""
                    if size == 1:
                        c = msg[0]
                        if c == VPCD_CTRL_OFF:
                            self.os.powerDown()
                        elif c == VPCD_CTRL_ON:
                            self.os.powerUp()
                        elif c == VPCD_CTRL_RESET:
                            self.os.reset()
                        elif c == VPCD_CTRL_ATR:
                            atr = self.os.getATR()
                            self.sock.sendall(struct.pack("!H", len(atr)) + atr)
                        continue
                    if (self.remove_after is not None and
                            self.answered >= self.remove_after):
                        self.remove_after = None   # once; SIGUSR1 re-inserts
                        self.toggle()
                        raise ConnectionError("pulled mid-transaction")
                    self.answered += 1
                    rapdu = self.os.execute(msg)
                    logging.info("%s -> %s", msg.hex(), rapdu.hex())
                    self.sock.sendall(struct.pack("!H", len(rapdu)) + rapdu)
            except CrashError as e:
                # reconnect at once, so that pcscd (polling every 400 ms)
                # keeps seeing a card, as with a driver that crashed
                logging.warning("crash: %r", e)
                crashed = True
            except (OSError, ConnectionError) as e:
                logging.warning("link down: %r", e)
            finally:
                self.sock.close()
                self.sock = None
            if self.inserted and not self.stop and not crashed:
                time.sleep(0.1)  # pcscd went away; reconnect


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-H", "--host", default="localhost")
    ap.add_argument("-P", "--port", type=int, default=35963)
    ap.add_argument("--pin", default="123456",
                    help="PIN digits; the terminal sends them BCD-packed "
                         "(123456 -> 12 34 56) unless --ascii-pin")
    ap.add_argument("--ascii-pin", action="store_true")
    ap.add_argument("--tries", type=int, default=3, help="PIN retry limit")
    ap.add_argument("--protect-holder", action="store_true",
                    help="EF06 (holder data) readable only after VERIFY")
    ap.add_argument("--atr", help="ATR hex (default: vicc-generated, T=1)")
    ap.add_argument("--t0", action="store_true",
                    help="T=0 card: T=0 ATR, case-4 commands answer 61xx "
                         "(data via GET RESPONSE 00 C0 00 00 Le)")
    ap.add_argument("--region", default="110100", help="6-digit region code")
    ap.add_argument("--card-serial", default="00000001", help="4 bytes hex")
    ap.add_argument("--card-type", default="3")
    ap.add_argument("--spec-version", default="3.00")
    ap.add_argument("--init-org", default="110100D15600000511010001",
                    help="12 bytes hex")
    ap.add_argument("--issue-date", default="20200115")
    ap.add_argument("--expiry-date", default="20300115")
    ap.add_argument("--card-number", default="A12345678")
    ap.add_argument("--ssn", default="110105199003072311")
    ap.add_argument("--name", default="张三")
    ap.add_argument("--sex", default="1")
    ap.add_argument("--ethnic", default="01")
    ap.add_argument("--birthplace", default="110105")
    ap.add_argument("--birth", default="19900307")
    ap.add_argument("--no-ssse", action="store_true",
                    help="present a non-social-security card (SELECT of the "
                         "SSSE AID answers 6A82)")
    ap.add_argument("--remove-after", type=int, metavar="N",
                    help="pull the card out when APDU N+1 arrives")
    ap.add_argument("--empty-ins", metavar="XX",
                    help="answer APDUs with this INS (hex) with no bytes at all")
    ap.add_argument("-v", "--verbose", action="count", default=0)
    a = ap.parse_args()
    logging.basicConfig(level=[logging.WARNING, logging.INFO,
                               logging.DEBUG][min(a.verbose, 2)],
                        format="%(asctime)s sscard %(levelname)s %(message)s")
    pin = a.pin.encode() if a.ascii_pin else bytes.fromhex(a.pin)
    ef05, ef06 = card_records(a)
    card = SSCardOS(ef05, ef06, pin, a.tries, a.protect_holder,
                    bytes.fromhex(a.atr) if a.atr else None, a.t0,
                    OTHER_AID if a.no_ssse else AID,
                    int(a.empty_ins, 16) if a.empty_ins else None)
    link = Link(card, a.host, a.port, a.remove_after)
    signal.signal(signal.SIGUSR1, link.toggle)

    def _term(*_):
        link.stop = True
        if link.sock:
            link.sock.close()
        sys.exit(0)
    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    logging.warning("ATR %s, port %d", card.getATR().hex(), a.port)
    link.serve()


if __name__ == "__main__":
    main()
