"""--batch-timeout MS: with --parallel reading a pipe, a partial batch is sent once no line came
for MS milliseconds, so `tail -f app.log | kelora --parallel` shows events as they come instead
of after a full batch (or at the end of the input)."""
import subprocess
import sys

import pytest

from tests.conftest import KELORA_BIN

# writes three lines, then stays quiet (as `tail -f` does) before the last one and the end
WRITER = ("import sys, time\n"
          "for i in range(3):\n"
          "    sys.stdout.write('{\"i\": %d}\\n' % i)\n"
          "sys.stdout.flush()\n"
          "time.sleep(float(sys.argv[1]))\n"
          "sys.stdout.write('{\"i\": 3}\\n')\n")


def run_slow_writer(args, quiet_s, expected=b"i=0\ni=1\ni=2\ni=3\n", header=0):
    """Run kelora on a writer that goes quiet for *quiet_s* seconds after three lines; whether
    the first event came out while it was quiet."""
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(quiet_s)], stdout=subprocess.PIPE)
    proc = subprocess.Popen([KELORA_BIN, "-j", *args], stdin=writer.stdout, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    writer.stdout.close()
    return came_while_quiet(proc, writer, expected, header)


def came_while_quiet(proc, writer, expected: bytes, header: int = 0) -> bool:
    """Whether kelora's first event (after *header* lines) came out while *writer* was still
    quiet, i.e. before the input ended; its whole output must be *expected*."""
    first = b"".join(proc.stdout.readline() for _ in range(header + 1))
    writer_was_quiet = writer.poll() is None
    rest = proc.stdout.read()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    writer.wait(timeout=60)
    assert first + rest == expected
    return writer_was_quiet


@pytest.mark.parametrize("extra", [[], ["--unordered"]], ids=["ordered", "unordered"])
def test_a_partial_batch_is_sent_while_the_pipe_is_quiet(extra):
    assert run_slow_writer(["--parallel", "--threads", "2", "--batch-timeout", "100", *extra], quiet_s=4)


def test_csv_output_header_then_the_partial_batch():
    assert run_slow_writer(["--parallel", "-F", "csv", "-k", "i"], quiet_s=4,
                           expected=b"i\n0\n1\n2\n3\n", header=1)


def test_batch_timeout_0_waits_for_a_full_batch():
    assert not run_slow_writer(["--parallel", "--threads", "2", "--batch-timeout", "0"], quiet_s=2)


def test_batch_timeout_must_not_be_negative():
    got = subprocess.run([KELORA_BIN, "-j", "--parallel", "--batch-timeout", "-1"], input=b"", capture_output=True)
    assert got.returncode == 2 and b"--batch-timeout" in got.stderr


# the first line alone, then quiet: the format is chosen from it without waiting for a second
FIRST_ALONE = ("import sys, time\n"
               "sys.stdout.write('{\"i\": 0}\\n')\n"
               "sys.stdout.flush()\n"
               "time.sleep(float(sys.argv[1]))\n"
               "sys.stdout.write('{\"i\": 1}\\n')\n")


@pytest.mark.parametrize("fmt", [["-j"], []], ids=["json", "auto"])
def test_the_first_line_alone_is_not_held_back_by_detection(fmt):
    writer = subprocess.Popen([sys.executable, "-c", FIRST_ALONE, "4"], stdout=subprocess.PIPE)
    proc = subprocess.Popen([KELORA_BIN, *fmt, "--parallel", "--threads", "2", "--batch-timeout", "100",
                             "-F", "json"], stdin=writer.stdout, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer.stdout.close()
    assert came_while_quiet(proc, writer, b'{"i":0}\n{"i":1}\n')


@pytest.mark.parametrize("args,word", [(["--batch-timeout", "9223372036854775807"], b"--batch-timeout"),
                                        (["--threads", "-2"], b"--threads")])
def test_out_of_range_numbers_are_usage_errors(args, word):
    got = subprocess.run([KELORA_BIN, "-j", "--parallel", *args], input=b'{"a":1}\n', capture_output=True)
    assert got.returncode == 2 and word in got.stderr and b"internal error" not in got.stderr
