// Process start-up for the `ribbon` executable only (nothing to call: see ArgumentVector.c).
#ifndef RIBBON_STARTUP_H
#define RIBBON_STARTUP_H
#endif
