// Fixture of the layers check: a folder without a rule.
#include "low/low.h"
