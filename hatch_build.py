"""Wheel build hook: compile the rule engine, durable_rules 2.0.28, into the private module `_policy_engine_dre`.

durable_rules is published on the package index as source only, and its C extension calls
`PyEval_CallObject`, which CPython 3.13 removed: built as published, it does not import on 3.13 or later.
This hook fetches that exact source distribution with pip (hash pinned below; pip's own configuration
decides where from), compiles its C sources as one extension with `PyEval_CallObject` defined as its
replacement `PyObject_CallObject` (the same call with the same arguments; the fix upstream merged but
never released), and ships the result in our wheel as the top-level module `_policy_engine_dre`, next to
the `policy_engine` package. `policy_engine.runtime` is the only importer. Changes to the engine are
compiled in as well, each explained where it is defined: pools that grow geometrically (`GROWTH`), a
bounded removal of a retracted fact from a dispatching action frame (`BOUNDED_REMOVAL`), decimal
numbers read the same whatever the process's locale (`NUMBERS`), hash tables sized for the few
dozen facts of one request (`BUCKETS`), and no identifier computed for the nothing after a batch's last
fact (`IDS`).

The hook also compiles the package's own C, `csrc/json_same.c`, into the module `_policy_engine_json`:
an exact comparison of JSON data, types included, that runs no Python code of the values compared
(`policy_engine._pipeline.request` compares a catalog's requests with it).

The modules are top level, not inside `policy_engine`, so that they are found whichever copy of
`policy_engine` is imported: the installed one, or a checkout's when `python -m pytest` runs in it (the
checkout comes first on `sys.path`). Editable installs get it the same way, in site-packages, and the
checkout is never written to. The Python layer of durable_rules (`durable.*`) is not used and not shipped.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

ENGINE_REQUIREMENT = "durable-rules==2.0.28"
ENGINE_SDIST = "durable_rules-2.0.28.tar.gz"
ENGINE_SDIST_SHA256 = "053b26f5e48d312d4fa27995243f954671be6eece477f150c059c364eb4d7d61"
ENGINE_ROOT = "durable_rules-2.0.28"
MODULE = "_policy_engine_dre"
JSON_MODULE = "_policy_engine_json"  # the package's own C: `same`, an exact comparison of JSON data
MACROS = [
    ("_GNU_SOURCE", None),  # as durable_rules' own setup.py
    ("PyEval_CallObject", "PyObject_CallObject"),  # removed in CPython 3.13
    ("PyInit_durable_rules_engine", f"PyInit_{MODULE}"),  # the module's init function, for its new name
    ("realloc", "pe_engine_realloc"),  # geometric growth of the engine's pools (GROWTH below)
]
# durable_rules grows its node, expression and string pools with `realloc` one element at a time. glibc
# serves the first large pool from mmap and grows it cheaply with mremap, but after a large block is
# freed it raises its mmap threshold, so every later ruleset's pools live on the heap and each one-node
# growth copies the whole pool: a second network built in one process took five times as long as the
# first. The engine's `realloc` becomes this function, which keeps a block when it is already large
# enough and otherwise grows it by half again: the same contents, amortized constant time per element.
GROWTH = """
#undef realloc
#include <stdlib.h>
#if defined(__APPLE__)
#include <malloc/malloc.h>
#define PE_USABLE(p) malloc_size(p)
#elif defined(_WIN32)
#include <malloc.h>
#define PE_USABLE(p) _msize(p)
#elif defined(__linux__)
#include <malloc.h>
#define PE_USABLE(p) malloc_usable_size(p)
#endif

void *pe_engine_realloc(void *block, size_t size) {
#ifdef PE_USABLE
    if (block != NULL && size != 0) {
        size_t usable = PE_USABLE(block);
        if (size <= usable) {
            return block;
        }
        if (size < usable + usable / 2) {
            size = usable + usable / 2;
        }
    }
#endif
    return realloc(block, size);
}
"""
# A retraction that reaches an action frame while its action is dispatching (started, not completed)
# removes the fact's message from the frame by zeroing its slot, and leaves the frame's message count as it
# was. The engine's removal scans the frame's 16 slots until it has seen as many occupied slots as that
# count: after one removal it never gets there, and reads (and may write) past the frame's slots into the
# memory that follows (valgrind: "conditional jump depends on uninitialised value" in
# deleteMessageFromFrame, on retract_facts). The engine's `state.c` is compiled through this file, which
# renames the engine's own removal and defines one that looks at each of the frame's slots once.
BOUNDED_REMOVAL = """
#define deleteMessageFromFrame pe_engine_unbounded_delete_message_from_frame
#include "state.c"
#undef deleteMessageFromFrame

unsigned int deleteMessageFromFrame(unsigned int messageNodeOffset, leftFrameNode *frame) {
    for (unsigned int slot = 0; slot < MAX_MESSAGE_FRAMES; ++slot) {
        messageFrame *message = &frame->messages[slot];
        if (message->hash != 0 && message->messageNodeOffset == messageNodeOffset) {
            message->hash = 0;
            message->messageNodeOffset = UNDEFINED_HASH_OFFSET;
        }
    }
    return RULES_OK;
}
"""
# durable_rules reads the decimal numbers of facts (state.c) and of the ruleset's tests (rete.c) with C's
# `atof`, which follows the process's LC_NUMERIC locale: once a host application calls
# `setlocale(LC_ALL, "")` under a locale whose decimal separator is a comma (de_DE, fr_FR, ...), 0.31 reads
# as 0 and a refund rate over a limit passes it. Those two files are compiled through a prelude that
# declares stdlib.h's functions first (so its own inline `atof` keeps its name) and then has their `atof`
# call this function, which parses in the "C" locale whatever the process's locale.
NUMBERS = """
#include <stdlib.h>
#include <locale.h>
#if defined(_WIN32)
static _locale_t pe_engine_c_numeric(void) {
    static _locale_t c = NULL;
    if (c == NULL) {
        c = _create_locale(LC_NUMERIC, "C");
    }
    return c;
}
double pe_engine_atof(const char *text) {
    return _strtod_l(text, NULL, pe_engine_c_numeric());
}
#else
#if defined(__APPLE__)
#include <xlocale.h>
#endif
static locale_t pe_engine_c_locale = (locale_t)0;
__attribute__((constructor)) static void pe_engine_numbers_init(void) {
    pe_engine_c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}
double pe_engine_atof(const char *text) {
    if (pe_engine_c_locale == (locale_t)0) {
        abort();  /* no "C" locale: never parse numbers by the process's locale */
    }
    return strtod_l(text, NULL, pe_engine_c_locale);
}
#endif
"""
NUMBERS_PRELUDE = """
#include <stdlib.h>
double pe_engine_atof(const char *text);
#define atof pe_engine_atof
"""
# Every session of the engine (one per network here, reused request after request) allocates, for each beta
# node of the network, two bucket arrays of 512 entries (4 KB each, zeroed), and a 512-bucket index of its
# facts that it scans whole to list them. A request holds a few dozen facts: the buckets are almost all
# empty, a 4,000-rule network's first session zeroes 64 MB, and a join's lookup lands on a cold cache line
# of one of those arrays. The buckets are chained hash tables (each node keeps its full hash, and lookups
# compare it), so their number changes only how long the chains are: the header is compiled with these
# bucket counts instead (each line must read as below in the pinned source, or the build stops).
BUCKETS = {
    "#define MAX_MESSAGE_INDEX_LENGTH 512": "#define MAX_MESSAGE_INDEX_LENGTH 64",
    "#define MAX_LEFT_FRAME_INDEX_LENGTH 512": "#define MAX_LEFT_FRAME_INDEX_LENGTH 64",
    "#define MAX_RIGHT_FRAME_INDEX_LENGTH 512": "#define MAX_RIGHT_FRAME_INDEX_LENGTH 64",
}
# The engine reads a batch of facts (`assert_facts`, `retract_facts`) object by object and stops when the
# reader, asked for one more object after the last, fails to parse one. Before failing, that last read gives
# the nothing it found an identifier, as it does a fact without an `id`: a 64-bit hash of its fields written
# out with `snprintf`, about 1,500 instructions for every batch (2 % of a catalog decision's). Every fact this
# package sends has an `id`; the identifier is now made only for an object that parsed, which is the only one
# the engine reads on (each line must read as below in the pinned source, or the build stops).
IDS = {
    "        CHECK_RESULT(fixupIds(jo, generateId));": (
        "        if (result == PARSE_END) CHECK_RESULT(fixupIds(jo, generateId));"
    ),
}
CORE_SOURCES = ["json", "events", "regex"]  # src/rules/*.c, as durable_rules' own setup.py (and rete.c, state.c)


class EngineBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        self._work = Path(tempfile.mkdtemp(prefix="policy-engine-build-"))
        try:
            sdist = self._download(self._work / "download")
            source = self._unpack(sdist, self._work / "source")
            libraries = self._compile(source, self._work)
        except BaseException:
            shutil.rmtree(self._work, ignore_errors=True)
            raise
        for library in libraries:
            build_data["force_include"][str(library)] = library.name
        build_data["extra_metadata"][str(source / "LICENSE")] = "durable_rules-LICENSE"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        shutil.rmtree(self._work, ignore_errors=True)

    def _download(self, dest: Path) -> Path:
        """The durable_rules source distribution, through pip (its index, proxy and cache settings)."""
        dest.mkdir(parents=True)
        pinned = dest.parent / "engine-requirement.txt"
        pinned.write_text(f"{ENGINE_REQUIREMENT} --hash=sha256:{ENGINE_SDIST_SHA256}\n", encoding="utf-8")
        self.app.display_info(f"fetching the {ENGINE_REQUIREMENT} source distribution with pip")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:"]
        # --no-build-isolation: pip reads the sdist's metadata with the setuptools of this build environment
        # instead of installing setuptools into yet another one.
        command += ["--no-build-isolation", "--require-hashes", "-r", str(pinned), "-d", str(dest)]
        subprocess.run(command, check=True)
        sdist = dest / ENGINE_SDIST
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        if digest != ENGINE_SDIST_SHA256:  # pip checked it already; this guards against a changed pip setup
            raise RuntimeError(f"{sdist.name} has sha256 {digest}, expected {ENGINE_SDIST_SHA256}")
        return sdist

    @staticmethod
    def _unpack(sdist: Path, dest: Path) -> Path:
        with tarfile.open(sdist) as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(dest, filter="data")
            else:  # Python 3.10 before 3.10.12: check the members by hand
                root = dest.resolve()
                for member in tar.getmembers():
                    target = (dest / member.name).resolve()
                    if not (member.isfile() or member.isdir()) or not target.is_relative_to(root):
                        raise RuntimeError(f"unexpected member {member.name!r} in {sdist.name}")
                tar.extractall(dest)
        return dest / ENGINE_ROOT

    def _compile(self, source: Path, work: Path) -> list[Path]:
        """Compile the engine's C sources into one extension module, and the package's own exact comparison
        of JSON data (`csrc/json_same.c`) into another, with setuptools' build_ext."""
        from setuptools import Distribution, Extension

        src = source / "src"
        _replace_lines(src / "rules" / "state.h", BUCKETS)
        _replace_lines(src / "rules" / "state.c", IDS)
        growth = work / "growth.c"
        growth.write_text(GROWTH, encoding="utf-8")
        state = work / "state_bounded.c"  # the engine's state.c, with BOUNDED_REMOVAL and NUMBERS_PRELUDE
        state.write_text(NUMBERS_PRELUDE + BOUNDED_REMOVAL, encoding="utf-8")
        rete = work / "rete_numbers.c"  # the engine's rete.c, with NUMBERS_PRELUDE
        rete.write_text(NUMBERS_PRELUDE + '#include "rete.c"\n', encoding="utf-8")
        numbers = work / "numbers.c"
        numbers.write_text(NUMBERS, encoding="utf-8")
        extension = Extension(
            MODULE,
            sources=[
                str(src / "rulespy" / "rules.c"),
                *(str(src / "rules" / f"{name}.c") for name in CORE_SOURCES),
                str(state),
                str(rete),
                str(growth),
                str(numbers),
            ],
            include_dirs=[str(src / "rules")],
            define_macros=MACROS,
            extra_compile_args=_compile_args(),
        )
        same = Extension(
            JSON_MODULE, sources=[str(Path(self.root) / "csrc" / "json_same.c")], extra_compile_args=_compile_args()
        )
        build_ext = Distribution({"name": MODULE, "ext_modules": [extension, same]}).get_command_obj("build_ext")
        build_ext.build_lib = str(work / "lib")
        build_ext.build_temp = str(work / "obj")
        build_ext.parallel = os.cpu_count() or 1
        build_ext.ensure_finalized()
        self.app.display_info(f"compiling {MODULE} from {source.name}")
        build_ext.run()
        return [Path(p) for p in build_ext.get_outputs()]


def _replace_lines(source: Path, lines_to_replace: dict[str, str]) -> None:
    """An engine source file with each line `old` replaced by `new`; RuntimeError if a line is not found
    exactly once."""
    lines = source.read_text(encoding="utf-8").split("\n")
    for old, new in lines_to_replace.items():
        found = [n for n, line in enumerate(lines) if line.rstrip() == old]
        if len(found) != 1:
            raise RuntimeError(f"{source.name}: expected the line {old!r} once, found it {len(found)} times")
        lines[found[0]] = new
    source.write_text("\n".join(lines), encoding="utf-8")


def _compile_args() -> list[str]:
    """durable_rules' own compiler flags (its setup.py sets them in CFLAGS, overriding the environment's)."""
    if sys.platform == "win32":
        return []
    if sys.platform == "darwin":
        return ["-std=c99", "-fcommon"]
    return ["-std=c99"]
