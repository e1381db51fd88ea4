// Fixture of the layers check: the low layer reaching up.
#include "high/high.h"
