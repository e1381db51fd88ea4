// Fixture of the layers check: the high layer may use the low one.
#include "low/low.h"
