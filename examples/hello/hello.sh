#!/bin/sh
# A FROM-scratch image has no shell; this file is data for the example.
echo "$(cat /app/greeting.txt)"
