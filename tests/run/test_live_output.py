"""A sequential run over a pipe writes out each event before it waits for more input (as Kelora,
whose stdout is line-buffered, does): `tail -f app.log | kelora ... | grep` shows events as
their lines arrive, not once 8 KiB of output or the end of the input is reached."""
import os
import subprocess
import sys

import pytest

from tests.conftest import KELORA_BIN
from tests.run.test_batch_timeout import WRITER, came_while_quiet, run_slow_writer


@pytest.mark.parametrize("args", [[], ["-F", "json"], ["--filter", "e.i >= 0", "-F", "json"],
                                  ["-e", "e.j = e.i + 1", "-k", "i"], ["--with-stats", "--filter", "e.i >= 0"]],
                         ids=["default", "json", "filter", "exec", "stats"])
def test_an_event_is_written_while_the_pipe_is_quiet(args):
    expected = b"i=0\ni=1\ni=2\ni=3\n"
    if args[-2:] == ["-F", "json"]:
        expected = b"".join(b'{"i":%d}\n' % i for i in range(4))
    assert run_slow_writer(args, quiet_s=4, expected=expected)


def test_a_fifo_named_on_the_command_line(tmp_path):
    fifo = tmp_path / "live"
    os.mkfifo(fifo)
    proc = subprocess.Popen([KELORA_BIN, "-j", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer = subprocess.Popen([sys.executable, "-c", WRITER + "open(%r, 'w')\n" % os.devnull, "4"],
                              stdout=open(fifo, "wb"))
    assert came_while_quiet(proc, writer, b"i=0\ni=1\ni=2\ni=3\n")
