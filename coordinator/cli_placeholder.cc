// Replaced by the command implementations.
namespace mixq {}
