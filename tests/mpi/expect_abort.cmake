# cmake -DCOMMAND="mpirun;...;program" -DEXPECTED=regex -P expect_abort.cmake
# Passes when COMMAND fails within the time limit and its output matches EXPECTED: a job
# that hangs, succeeds or fails silently does not.
execute_process(COMMAND ${COMMAND} RESULT_VARIABLE result OUTPUT_VARIABLE output
                ERROR_VARIABLE output TIMEOUT 60)
message(STATUS "exit: ${result}\n${output}")
if(result EQUAL 0 OR NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "expected the job to abort with a non-zero exit code, got '${result}'")
endif()
if(NOT output MATCHES "${EXPECTED}")
  message(FATAL_ERROR "the output lacks '${EXPECTED}'")
endif()
