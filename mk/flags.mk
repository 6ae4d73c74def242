# Compiler and linker flags shared by every target.
# SAN=1 builds with AddressSanitizer and UndefinedBehaviorSanitizer into
# build/san so that it never mixes with the normal objects; TSAN=1 with
# ThreadSanitizer into build/tsan (make tsan).

CC      ?= cc
AR      ?= ar
SAN     ?=
TSAN    ?=
FUZZ    ?=
ifeq ($(FUZZ),1)
# libFuzzer targets (tests/fuzz/): clang, with ASan and UBSan.
CC      := clang
BUILD   := build/fuzz
BIN     := build/fuzz/bin
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     := -O1 -g
else ifeq ($(TSAN),1)
BUILD   := build/tsan
BIN     := build/tsan/bin
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT     := -O1 -g
else ifeq ($(SAN),1)
BUILD   := build/san
BIN     := build/san/bin
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
OPT     := -O1 -g
else
BUILD   := build/release
BIN     := bin
SANFLAGS :=
OPT     := -O2 -g
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wcast-qual -Wformat=2 \
	-Wundef -Wvla -Wno-unused-parameter -Wimplicit-fallthrough

CPPFLAGS += -D_GNU_SOURCE -Icommon
CFLAGS   += -std=c11 $(OPT) $(WARN) $(SANFLAGS) -pthread
LDFLAGS  += $(SANFLAGS) -pthread
LDLIBS   += -lnng -lcurl -lhiredis -lcjson -lcivetweb -lyaml -lssl -lcrypto \
	-lz -lm
