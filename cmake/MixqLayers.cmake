# Layering. Each folder of mixq's states which folders its code may include
# headers from, in its CMakeLists.txt beside the targets it builds:
#
#   mixq_layer(coordinator MAY_INCLUDE common engine/ir ...
#              MAINS_MAY_INCLUDE search)
#
# MAINS_MAY_INCLUDE widens the rule for the folder's *_main.cc files, which
# compose libraries into a program (the coordinator daemon's main adds the
# search driver). The check_layers step runs on every build and fails naming
# each file and include that breaks a rule, and any source folder without a
# rule. The targets' links say the same thing at link time: a library that may
# not include a folder does not link its library either.
set(MIXQ_CHECK_LAYERS_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/check_layers.cmake)

function(mixq_layer folder)
  cmake_parse_arguments(L "" "" "MAY_INCLUDE;MAINS_MAY_INCLUDE" ${ARGN})
  string(REPLACE ";" "," may "${L_MAY_INCLUDE}")
  string(REPLACE ";" "," mains "${L_MAINS_MAY_INCLUDE}")
  set_property(GLOBAL APPEND PROPERTY MIXQ_LAYER_RULES "${folder}:${may}:${mains}")
endfunction()

# Adds the check_layers target (part of ALL) over the rules declared so far.
# `roots` are the top folders whose every source folder needs a rule.
function(mixq_check_layers)
  get_property(rules GLOBAL PROPERTY MIXQ_LAYER_RULES)
  string(REPLACE ";" "|" rules "${rules}")
  string(REPLACE ";" "|" roots "${ARGN}")
  add_custom_target(check_layers ALL
    COMMAND ${CMAKE_COMMAND} "-DROOT=${PROJECT_SOURCE_DIR}" "-DRULES=${rules}"
            "-DROOTS=${roots}" -P ${MIXQ_CHECK_LAYERS_SCRIPT}
    COMMENT "check_layers: every folder includes only what its rule allows"
    VERBATIM)
endfunction()
